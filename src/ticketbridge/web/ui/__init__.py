"""Server-rendered pages: usable without JavaScript, our own stylesheet, no CDN."""
