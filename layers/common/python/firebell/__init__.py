"""firebell: the shared domain package every function imports (shipped as the common Lambda layer)."""
