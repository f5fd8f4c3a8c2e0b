//! What ringfence decides about an inspected HTTP request: secret sentinels and their injection,
//! method and path routes, model usage metering and budgets. Pure logic: no I/O, no async.
