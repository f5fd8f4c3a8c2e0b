//! One lifecycle for every sensor's thread: started and waited on until the sensor is in force
//! (so its errors come back to the caller, and nothing after `start` is missed), stopped with a
//! signal that also wakes it, joined once, and stopped on drop, so no program outlives its sensor.

use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};

use crate::SensorError;
use crate::exec::panic_message;
use crate::wake::StopSignal;

pub(crate) struct Worker<T> {
    stop: Arc<StopSignal>,
    thread: Option<JoinHandle<Result<T, SensorError>>>,
}

impl<T: Send + 'static> Worker<T> {
    /// Runs `body` on a thread named `name`; returns once it has sent what it is ready with,
    /// or with its error if it ended first.
    pub(crate) fn start<R: Send + 'static>(
        name: &str,
        body: impl FnOnce(&StopSignal, mpsc::SyncSender<R>) -> Result<T, SensorError> + Send + 'static,
    ) -> Result<(Worker<T>, R), SensorError> {
        let stop = Arc::new(StopSignal::new().map_err(SensorError::Thread)?);
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let thread = thread::Builder::new()
            .name(name.into())
            .spawn({
                let stop = Arc::clone(&stop);
                move || body(&stop, ready_tx)
            })
            .map_err(SensorError::Thread)?;
        // The thread drops the sender without a message when it fails before it is in force.
        match ready_rx.recv() {
            Ok(ready) => Ok((Worker { stop, thread: Some(thread) }, ready)),
            Err(mpsc::RecvError) => Err(match thread.join() {
                Ok(Err(err)) => err,
                Ok(Ok(_)) => SensorError::ThreadDied(" before it was in force".into()),
                Err(panic) => SensorError::ThreadDied(panic_message(&*panic)),
            }),
        }
    }

    /// Asks the thread to stop (it drains what it owes first) and returns its result.
    pub(crate) fn stop(mut self) -> Result<T, SensorError> {
        self.stop.request();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => Err(SensorError::ThreadDied(panic_message(&*panic))),
            None => Err(SensorError::ThreadDied(" (already stopped)".into())),
        }
    }
}

impl<T> Drop for Worker<T> {
    fn drop(&mut self) {
        self.stop.request();
        if let Some(thread) = self.thread.take() {
            // Nobody is left to hear the result.
            let _ = thread.join();
        }
    }
}
