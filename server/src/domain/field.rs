//! What a person typed, field by field: a change to one field, and why a
//! value cannot be used.

/// A value that cannot be used: which field (its neutral name, kebab-case:
/// `background-color`) and what is wrong with it. The problem never names
/// the field, so each surface words it itself: the command line as its
/// flag (`--background-color`), the API and the pages by their own names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    pub field: &'static str,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: &'static str, problem: impl Into<String>) -> FieldError {
        FieldError {
            field,
            problem: problem.into(),
        }
    }

    /// As the command line says it: `--background-color: <problem>`.
    pub fn as_flag(&self) -> String {
        format!("--{}: {}", self.field, self.problem)
    }
}

/// A change to one field: leave it, reset it to its default, or set it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Change<T> {
    #[default]
    Keep,
    Reset,
    Set(T),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_surface_names_the_field_its_own_way() {
        let e = FieldError::new("background-color", "'blue' is not a color such as #1f4e79");
        assert_eq!(
            e.as_flag(),
            "--background-color: 'blue' is not a color such as #1f4e79"
        );
        assert_eq!(
            e.to_string(),
            "background-color: 'blue' is not a color such as #1f4e79"
        );
    }
}
