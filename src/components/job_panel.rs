use leptos::prelude::*;

/// The job the device is running, or ran last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    /// Job id.
    pub job_id: String,
    /// Percent done.
    pub percent: u32,
    /// Status as the cloud last confirmed it, or the step in progress.
    pub status: String,
}

/// Current job with a progress bar.
#[component]
pub fn JobPanel(
    /// The job, if any has run.
    #[prop(into)]
    job: Signal<Option<JobView>>,
) -> impl IntoView {
    view! {
        <div class="job" data-testid="job-panel">
            {move || match job.get() {
                None => view! { <p class="muted">"No job yet. Jobs sent to this thing run here."</p> }.into_any(),
                Some(j) => view! {
                    <p><strong>{j.job_id.clone()}</strong>" · "<span data-testid="job-status">{j.status.clone()}</span></p>
                    <progress max="100" value=j.percent data-testid="job-progress"
                        aria-label=format!("{} progress", j.job_id)>{j.percent}"%"</progress>
                }.into_any(),
            }}
        </div>
    }
}
