//! The administrator's section: its gate, the pages' service and the forms
//! they post, one module per resource. Pages are Leptos routes; these
//! answer their data and their POSTs.

mod gate;
mod queue;
mod report;
mod rules;
mod service;
mod settings;
mod templates;
mod users;

pub use queue::queue_action;
pub use report::{report_csv, revoke};
pub use rules::{change as change_rule, save as save_rule};
pub use service::AdminPages;
pub use settings::save_settings;
pub use templates::{new_template, remove_template, save_template};
pub use users::add_user;
