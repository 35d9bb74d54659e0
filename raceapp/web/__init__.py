"""Web helpers every blueprint shares; no routes live here.

- `http`: htmx detection, the revalidation and cache policy of private pages, safe local URLs
- `guards`: checks run before every request (no NUL bytes, no writes while previewing)
- `template_helpers`: filters and globals that show race time in the event's zone
- `error_pages`: every failure ends in a clear page (or JSON, or a text for htmx) and a 4xx
- `assets`: content-versioned static URLs and the service worker's build
- `security`: security headers; `ratelimits`: abuse limits and their shared counters
- `qr`: QR codes as inline SVG
"""
