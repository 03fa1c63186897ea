// `sqlx::migrate!` embeds the migrations at compile time: a new file in the
// folder must rebuild the server.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
