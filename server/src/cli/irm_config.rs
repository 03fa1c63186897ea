//! `sealpost irm-config`: the organization's protection settings.

use super::*;

#[derive(Subcommand, Debug)]
pub enum IrmConfigCommand {
    /// Show the settings
    Show,
    /// Change settings; values in any case (Mandatory works)
    Set {
        /// disabled, optional (the default) or mandatory
        #[arg(long, value_name = "VALUE")]
        transport_decryption: Option<String>,
        /// Another organization's protected mail: pass (the default) or reject
        #[arg(long, value_name = "VALUE")]
        foreign_protected: Option<String>,
    },
}

pub async fn run(settings: Settings, cmd: IrmConfigCommand) -> Result<(), CliError> {
    use crate::irm_config::{ForeignProtected, IrmConfig, TransportDecryption};
    let show = |c: &IrmConfig| {
        format_list(&[
            (
                "TransportDecryption",
                c.transport_decryption.as_str().to_string(),
            ),
            ("ForeignProtected", c.foreign_protected.as_str().to_string()),
        ])
    };
    match cmd {
        IrmConfigCommand::Show => {
            let (store, _) = startup::open(&settings).await?;
            println!("{}", show(&IrmConfig::load(&store).await?));
        }
        IrmConfigCommand::Set {
            transport_decryption,
            foreign_protected,
        } => {
            if transport_decryption.is_none() && foreign_protected.is_none() {
                return Err(CliError::Usage(
                    "nothing to set: give --transport-decryption or --foreign-protected".into(),
                ));
            }
            let decryption = transport_decryption
                .map(|v| {
                    TransportDecryption::parse(&v).ok_or_else(|| {
                        CliError::Usage(format!(
                            "--transport-decryption: '{v}' is not one of: {}",
                            TransportDecryption::VALUES
                        ))
                    })
                })
                .transpose()?;
            let foreign = foreign_protected
                .map(|v| {
                    ForeignProtected::parse(&v).ok_or_else(|| {
                        CliError::Usage(format!(
                            "--foreign-protected: '{v}' is not one of: {}",
                            ForeignProtected::VALUES
                        ))
                    })
                })
                .transpose()?;
            let (store, _) = startup::open(&settings).await?;
            let config =
                services::protection::set(&store, &Actor::command_line(), decryption, foreign)
                    .await?;
            println!("{}", show(&config));
        }
    }
    Ok(())
}
