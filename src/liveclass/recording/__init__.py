"""Recording: storage for finished files, the Janus post-processor and the mesh recorder."""
