"""`python -m fedlora`: the same command line as the `fedlora` console script."""

from fedlora.cli.app import main

if __name__ == "__main__":
    main()
