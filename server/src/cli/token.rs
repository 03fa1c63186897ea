//! `sealpost token`: API tokens for the JSON API.

use super::*;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token that acts as the user; it is printed once
    Create {
        /// The user the token acts as (with that user's role)
        #[arg(long)]
        user: String,
        /// A name to recognise the token by, e.g. the script that uses it
        #[arg(long)]
        name: String,
    },
    /// List the tokens (never their secret part)
    List,
    /// Revoke a user's token by name
    Revoke {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
    },
}

pub async fn run(settings: Settings, cmd: TokenCommand) -> Result<(), CliError> {
    use services::tokens::{self, TokenError};
    let (store, _) = startup::open(&settings).await?;
    let user_of = |email: String| {
        let store = store.clone();
        async move {
            let email = parse_email(&email)?;
            store
                .user_by_email(&email)
                .await?
                .ok_or_else(|| CliError::Refused(format!("No user {email}.")))
        }
    };
    let refusal = |e: TokenError| match e {
        TokenError::BadName => CliError::Usage(format!("--name: {e}")),
        TokenError::Store(e) => e.into(),
        refused => CliError::Refused(refused.to_string()),
    };
    match cmd {
        TokenCommand::Create { user, name } => {
            tokens::check_name(&name).map_err(refusal)?;
            let user = user_of(user).await?;
            let (token, name) = tokens::create(&store, &Actor::command_line(), &user, &name)
                .await
                .map_err(refusal)?;
            // Standard output only, and only now: the database keeps its hash.
            println!("{token}");
            eprintln!(
                "Created the API token '{name}' acting as {} ({}). It is shown only this once.",
                user.email, user.role
            );
        }
        TokenCommand::List => {
            let rows = store.api_tokens().await?;
            if rows.is_empty() {
                println!("No API tokens.");
            }
            let blocks: Vec<String> = rows
                .iter()
                .map(|t| {
                    format_list(&[
                        ("Name", t.name.clone()),
                        ("User", t.email.clone()),
                        ("Role", t.role.as_str().to_string()),
                        ("CreatedAt", rfc3339(t.created_at)),
                        ("Revoked", title_bool(t.revoked_at.is_some())),
                    ])
                })
                .collect();
            if !blocks.is_empty() {
                println!("{}", blocks.join("\n\n"));
            }
        }
        TokenCommand::Revoke { user, name } => {
            let user = user_of(user).await?;
            tokens::revoke(&store, &Actor::command_line(), &user, &name)
                .await
                .map_err(refusal)?;
            println!("Revoked the API token '{name}' of {}.", user.email);
        }
    }
    Ok(())
}
