"""Test harness: real servers, the plugin as a separate process, out-of-band store checks."""
