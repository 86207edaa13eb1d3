"""Exchange: tables (CSV/Excel) and codebook documents."""
