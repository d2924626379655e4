"""``python -m imgtrans`` runs the command line."""

from imgtrans.cli import main

main()
