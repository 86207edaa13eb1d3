"""The script `clhs app` hands to `streamlit run` (the top-level app.py does the same)."""

from clhs_mechanisms.app import main

main()
