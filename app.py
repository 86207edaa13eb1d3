"""The review app: `streamlit run app.py -- --project DIR` (or `clhs app --project DIR`)."""

from clhs_mechanisms.app import main

main()
