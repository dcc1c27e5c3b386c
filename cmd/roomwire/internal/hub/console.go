package hub

import (
	"embed"
	"io/fs"
	"net/http"
)

// consoleFiles is the operator's web console: one page, its script and its
// style sheet, served from the binary. The page holds no data and no secret;
// it asks for an API key, keeps it in the tab's session storage and calls
// the API with it, so it sees what that key may see.
//
//go:embed console
var consoleFiles embed.FS

// consoleHandler serves the console under /console/, and its page at /.
func consoleHandler() http.Handler {
	sub, err := fs.Sub(consoleFiles, "console")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	files := http.StripPrefix("/console/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Nothing but the console's own files runs, is loaded or framed.
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == "/" {
			http.ServeFileFS(w, r, sub, "index.html") // the console is the hub's home page
			return
		}
		files.ServeHTTP(w, r)
	})
}
