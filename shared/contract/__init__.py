"""The external contract as code, pure: topics, events, refusals, CPR, kommuner, time, rules."""
