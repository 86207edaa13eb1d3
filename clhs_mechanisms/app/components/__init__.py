"""Custom Streamlit components of the app: plain HTML, CSS and JavaScript shipped in the package."""
