"""The parts of `briskml demo` (and `make demo`): one module per application, each training on a
bundled sample; `common.py` holds what they share. They live in the CLI so that no core module
imports an application."""
