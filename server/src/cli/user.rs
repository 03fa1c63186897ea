//! `sealpost user`: organization users and their passwords.

use super::*;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add an organization user (password from a prompt, or --password-stdin)
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for a user (also lifts a required change)
    SetPassword {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the organization users
    List,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Sender,
    Admin,
}

pub async fn run(settings: Settings, cmd: UserCommand) -> Result<(), CliError> {
    match cmd {
        UserCommand::Add {
            email,
            role,
            password_stdin,
        } => {
            let email = parse_email(&email)?;
            let password = read_password(password_stdin)?;
            let (store, _) = startup::open(&settings).await?;
            let role = match role {
                RoleArg::Sender => crate::domain::Role::Sender,
                RoleArg::Admin => crate::domain::Role::Admin,
            };
            services::users::add(
                &store,
                &Actor::command_line(),
                &email,
                role,
                password,
                false,
            )
            .await?;
            println!("Added {email} as {role}.");
            Ok(())
        }
        UserCommand::SetPassword {
            email,
            password_stdin,
        } => {
            let email = parse_email(&email)?;
            let password = read_password(password_stdin)?;
            let (store, _) = startup::open(&settings).await?;
            let user = services::users::find(&store, &email).await?;
            services::users::set_password(&store, &Actor::command_line(), &user, password, false)
                .await?;
            println!("The password of {email} was changed.");
            Ok(())
        }
        UserCommand::List => {
            let (store, _) = startup::open(&settings).await?;
            let users = store.list_users().await?;
            let blocks: Vec<String> = users
                .iter()
                .map(|u| {
                    format_list(&[
                        ("Email", u.email.clone()),
                        ("Role", u.role.as_str().to_string()),
                        ("MustChangePassword", title_bool(u.must_change_password)),
                        ("CreatedAt", rfc3339(u.created_at)),
                    ])
                })
                .collect();
            println!("{}", blocks.join("\n"));
            Ok(())
        }
    }
}
