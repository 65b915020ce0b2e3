"""``python -m nbhd_geo.cli`` runs the command line."""

from nbhd_geo.cli.main import main

if __name__ == "__main__":
    main()
