//! The agents after the transport rules: an organization's own custom
//! agents, then antivirus last, so it also scans what the agents wrote.

pub mod antivirus;
pub mod clamd;
pub mod custom;

use crate::config::Settings;
use crate::pipeline::Stage;
use std::sync::Arc;
use std::time::Duration;

/// How long clamd may take for one piece of a message.
const CLAMD_TIMEOUT: Duration = Duration::from_secs(120);

/// The configured custom agents in their order, then antivirus.
pub fn configured(settings: &Settings) -> Vec<Arc<dyn Stage>> {
    let mut stages: Vec<Arc<dyn Stage>> = settings
        .custom_agents
        .iter()
        .map(|a| {
            Arc::new(custom::CustomAgentStage::new(
                a.clone(),
                settings.max_message_bytes,
            )) as Arc<dyn Stage>
        })
        .collect();
    if let Some(addr) = &settings.clamd_addr {
        stages.push(Arc::new(antivirus::Antivirus {
            addr: addr.clone(),
            unavailable: settings.clamd_unavailable,
            timeout: CLAMD_TIMEOUT,
        }));
    }
    stages
}
