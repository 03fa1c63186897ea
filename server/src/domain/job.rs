//! The two queues of work.

/// Stored as `pipeline` and `deliver` (the names the first version gave
/// them); shown as `pipeline` and `outbound`, as `sealpost queue` and
/// `/admin/queue` name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// A message on its way through the stages.
    Pipeline,
    /// Mail on its way out: copies, notifications, passcodes, reports.
    Outbound,
}

impl JobKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Pipeline => "pipeline",
            JobKind::Outbound => "deliver",
        }
    }

    /// From the stored text.
    pub fn parse(text: &str) -> Option<JobKind> {
        match text {
            "pipeline" => Some(JobKind::Pipeline),
            "deliver" => Some(JobKind::Outbound),
            _ => None,
        }
    }

    /// The name people use.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Pipeline => "pipeline",
            JobKind::Outbound => "outbound",
        }
    }

    /// The name people use for a stored kind; one this version does not
    /// know is shown as stored.
    pub fn name_of(stored: &str) -> &str {
        match JobKind::parse(stored) {
            Some(kind) => kind.name(),
            None => stored,
        }
    }

    /// From the name people use.
    pub fn from_name(name: &str) -> Option<JobKind> {
        match name {
            "pipeline" => Some(JobKind::Pipeline),
            "outbound" => Some(JobKind::Outbound),
            _ => None,
        }
    }
}

super::stored_as_text!(JobKind);
