//! `sealpost keys`: the key-encryption keys, rotated, listed, exported and imported.

use super::*;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a new current key-encryption key; older keys keep opening what they sealed
    Rotate,
    /// List the key-encryption keys
    List,
    /// Write the organization id and secret and every key-encryption key,
    /// sealed with a passphrase, for another deployment of this organization
    Export {
        /// Read the passphrase (12 characters or more) from the first line of standard input
        #[arg(long)]
        passphrase_stdin: bool,
    },
    /// Adopt an exported organization and add its keys, so this deployment
    /// opens the other's protected mail; importing what is known changes nothing
    Import {
        /// The file `keys export` wrote
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Read the passphrase from the first line of standard input
        #[arg(long)]
        passphrase_stdin: bool,
    },
}

pub async fn run(settings: Settings, cmd: KeysCommand) -> Result<(), CliError> {
    match cmd {
        KeysCommand::Rotate => {
            let store = crate::store::Store::connect(&settings.database_url).await?;
            let id = services::keys::rotate(&store, &settings, &Actor::command_line())
                .await
                .map_err(StartupError::from)?;
            println!(
                "{}",
                format_list(&[("KeyId", id.to_hex()), ("IsCurrent", "True".into())])
            );
            println!(
                "New messages are sealed with this key; older keys still open what they sealed."
            );
            Ok(())
        }
        KeysCommand::Export { passphrase_stdin } => {
            let passphrase = read_password(passphrase_stdin)?;
            let store = crate::store::Store::connect(&settings.database_url).await?;
            let sealed =
                services::keys::export(&store, &settings, &Actor::command_line(), &passphrase)
                    .await
                    .map_err(StartupError::from)?;
            println!("{sealed}");
            Ok(())
        }
        KeysCommand::Import {
            file,
            passphrase_stdin,
        } => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                CliError::Usage(format!("--file: cannot read {}: {e}", file.display()))
            })?;
            let passphrase = read_password(passphrase_stdin)?;
            let store = crate::store::Store::connect(&settings.database_url).await?;
            let actor = Actor::command_line();
            let report =
                match services::keys::import(&store, &settings, &actor, &text, &passphrase).await {
                    Ok(report) => report,
                    Err(crate::keys::KeyError::Bundle(why)) => return Err(CliError::Refused(why)),
                    Err(e) => return Err(StartupError::from(e).into()),
                };
            if let Some(former) = report.replaced_org {
                println!(
                    "This deployment now belongs to the exported organization; mail protected under its former id {former} still opens here."
                );
            }
            println!(
                "Imported {} new key-encryption key(s){}.",
                report.keys_added,
                if report.keys_added == 0 {
                    ": everything was already known"
                } else {
                    ""
                }
            );
            Ok(())
        }
        KeysCommand::List => {
            let (store, _) = startup::open(&settings).await?;
            let blocks: Vec<String> = store
                .keys()
                .await?
                .iter()
                .map(|k| {
                    format_list(&[
                        ("KeyId", k.key_id.clone()),
                        ("IsCurrent", title_bool(k.is_current)),
                        ("Origin", k.origin.clone()),
                        ("CreatedAt", rfc3339(k.created_at)),
                    ])
                })
                .collect();
            println!("{}", blocks.join("\n"));
            Ok(())
        }
    }
}
