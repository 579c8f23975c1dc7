//! Services: plans and add-ons (browse views), the queue screen (`provisioning`), the job list,
//! and the job popups they share.

pub mod job_confirm;
pub mod job_detail;
pub mod jobs;
pub mod queues;
