"""`python -m map_brevo` runs the mapper."""

from map_brevo.mapper import main

main()
