"""The Realnet WordPress plugin (``realnet/realnet.php``), shipped inside the package so that
a WordPressSite can hand it to its site through a ConfigMap."""
