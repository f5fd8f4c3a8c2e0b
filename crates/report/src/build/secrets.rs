//! The Secrets section: exfiltration attempts grouped per secret and destination with the
//! processes behind them, and per secret the hosts its real value was injected for.

use journal::{Event, Record, SecretExfil};

use super::actor::Actors;
use super::api::bump;
use super::violations::verdict;
use super::{Clock, ProcessTree};
use crate::model::{ExfilAttempt, InjectedSecret, Secrets};

#[derive(Default)]
pub(super) struct SecretCollector {
    attempts: Vec<(ExfilAttempt, Actors)>,
    injected: Vec<InjectedSecret>,
}

impl SecretCollector {
    pub fn observe(&mut self, record: &Record, tree: &ProcessTree, clock: &Clock) {
        match &record.event {
            Event::SecretExfil(x) => self.exfil(x, record, tree, clock),
            Event::HttpRequest(r) => {
                for name in &r.injected {
                    self.inject(name, &r.host);
                }
            }
            _ => {}
        }
    }

    fn exfil(&mut self, x: &SecretExfil, record: &Record, tree: &ProcessTree, clock: &Clock) {
        let v = verdict(x.verdict);
        let at = self.attempts.iter().position(|(a, _)| {
            a.secret == x.secret
                && a.host == x.host
                && a.port == x.port
                && a.location == x.location
                && a.verdict == v
        });
        let i = match at {
            Some(i) => i,
            None => {
                self.attempts.push((
                    ExfilAttempt {
                        secret: x.secret.clone(),
                        host: x.host.clone(),
                        port: x.port,
                        location: x.location.clone(),
                        verdict: v,
                        count: 0,
                        first_seq: record.seq,
                        first_offset_ms: clock.offset_ms(&record.ts),
                        processes: Vec::new(),
                        processes_total: 0,
                    },
                    Actors::default(),
                ));
                self.attempts.len() - 1
            }
        };
        let (a, actors) = &mut self.attempts[i];
        a.count += 1;
        actors.add(tree, x.pid);
    }

    fn inject(&mut self, name: &str, host: &str) {
        let at = self.injected.iter().position(|s| s.secret == name);
        let i = at.unwrap_or_else(|| {
            self.injected.push(InjectedSecret { secret: name.to_string(), requests: 0, hosts: Vec::new() });
            self.injected.len() - 1
        });
        let s = &mut self.injected[i];
        s.requests += 1;
        bump(&mut s.hosts, host);
    }

    pub fn finish(self) -> Secrets {
        let exfiltration = self
            .attempts
            .into_iter()
            .map(|(mut a, actors)| {
                (a.processes, a.processes_total) = actors.finish();
                a
            })
            .collect();
        Secrets { exfiltration, injected: self.injected }
    }
}
