"""`python -m briskml` runs the briskml command."""

from briskml.cli import main

main()
