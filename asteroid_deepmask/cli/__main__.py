"""``python -m asteroid_deepmask.cli``: what the recipes' run.sh call."""
from . import main

main()
