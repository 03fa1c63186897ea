#!/usr/bin/env python3
"""Sets up what the portal benchmark measures: one protected message with a
50 KB HTML body sent over SMTP, opened by its recipient with a one-time
passcode from the local outbox. Prints the message page URL and the
recipient's session cookie ("URL COOKIE"), and saves the page's HTML for the
static peer.

    portal_session.py HTTP_BASE SMTP_HOST SMTP_PORT HTML_OUT
"""
import html
import http.cookiejar
import re
import smtplib
import sys
import time
import urllib.parse
import urllib.request
from email.message import EmailMessage

base, smtp_host, smtp_port, html_out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
recipient = "bob@gmail.example"

# A 50 KB HTML body of ordinary business text.
paragraph = ("<p>Quarterly figures for the <b>northern region</b> are attached below; "
             "please <a href=\"https://example.com/report\">review them</a> before Friday.</p>\n")
body = "<html><body><h2>Report</h2>\n" + paragraph * (51200 // len(paragraph)) + "</body></html>"
msg = EmailMessage()
msg["From"] = "alice@corp.example"
msg["To"] = recipient
msg["Subject"] = "[secure] Quarterly report"
msg.set_content("See the HTML part.")
msg.add_alternative(body, subtype="html")
with smtplib.SMTP(smtp_host, smtp_port) as s:
    s.send_message(msg)

jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def get(path):
    with opener.open(base + path) as r:
        return r.read().decode()


def post(path, fields):
    data = urllib.parse.urlencode(fields).encode()
    with opener.open(base + path, data) as r:
        return r.read().decode()


def mail_to(to, count):
    for _ in range(300):
        rows = re.findall(r'<tr><td>[^<]*</td><td>([^<]*)</td><td><a href="(/dev/outbox/[^"]+)"', get("/dev/outbox"))
        rows = [href for who, href in rows if who == to]
        if len(rows) >= count:
            return html.unescape(get(rows[0]))
        time.sleep(0.1)
    sys.exit(f"no mail to {to} in the outbox")


link = re.search(r"https?://[^\s\"<]+/r/[A-Za-z0-9_-]+", mail_to(recipient, 1)).group(0)
path = urllib.parse.urlparse(link).path
landing = get(path)
csrf = re.search(r'name="csrf" value="([^"]+)"', landing).group(1)
page = post(path, {"csrf": csrf, "step": "passcode"})
code = re.search(r"\b(\d{8})\b", mail_to(recipient, 2)).group(1)
csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
page = post(path, {"csrf": csrf, "step": "verify", "code": code, "remember": "yes"})
if "Quarterly report" not in page:
    sys.exit("the passcode did not open the message")
with open(html_out, "w") as f:
    f.write(page)
cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
print(base + path, cookie)
