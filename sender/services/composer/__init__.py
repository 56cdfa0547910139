"""The composer's library: templates (layouts), images (media) and the checks shown before sending."""
