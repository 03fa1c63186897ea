//! Domain types that validate themselves on construction.

/// Stores an enum in a TEXT column as its `as_str()` form, on SQLite and
/// PostgreSQL alike (no database enum type, so no migration of data);
/// reading any other text is an error naming it. The enum needs
/// `as_str(self) -> &'static str` and `parse(&str) -> Option<Self>`.
macro_rules! stored_as_text {
    ($ty:ty) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $ty
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'q str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                <$ty>::parse(text)
                    .ok_or_else(|| format!("'{text}' is not a stored {}", stringify!($ty)).into())
            }
        }
    };
}
pub(crate) use stored_as_text;

mod actor;
mod email;
mod envelope;
mod field;
mod internal;
mod job;
mod message_id;
mod recipient;
mod rights;
mod role;
mod size;
mod time;

pub use actor::{Actor, Surface};
pub use email::{EmailAddress, EmailError, is_domain as domain_is_valid};
pub use envelope::{Envelope, Requested};
pub use field::{Change, FieldError};
pub use internal::InternalDomains;
pub use job::JobKind;
pub use message_id::normalise_message_id;
pub use recipient::{Experience, RecipientState};
pub use rights::Rights;
pub use role::Role;
pub use size::{format_size, parse_size};
pub use time::{display as display_time, rfc3339};
