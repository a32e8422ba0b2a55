"""Custom-project subjects: the asset tree, project users and their grants on assets."""
