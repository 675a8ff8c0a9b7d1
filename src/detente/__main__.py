"""``python -m detente`` runs the command line."""

from .cli import main

main()
