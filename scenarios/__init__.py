"""Named scenarios (YAML data in this folder) and the code that reads them."""
