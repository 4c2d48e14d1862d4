// Package providermedia stands in for where providers keep inbound files,
// for the local stack and its tests: Twilio's media resources (which
// redirect to a CDN), the Graph API's WhatsApp media lookup and download,
// and Meta's CDN for Messenger and Instagram. A test registers a file's
// bytes under the id the webhook will name (PUT /dev/media/{id}); the
// media copy then fetches it through the same adapters as in AWS, pointed
// here (shared/handler/media.Bases).
package providermedia

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// maxFile bounds a registered file: WhatsApp's largest.
const maxFile = 100 << 20

// Server keeps registered files in memory.
type Server struct {
	mu    sync.Mutex
	files map[string]file
}

type file struct {
	data        []byte
	contentType string
}

// Paths under which the adapters' bases point here.
const (
	TwilioPath = "/dev/twilio"       // for https://api.twilio.com
	GraphPath  = "/dev/graph/v21.0"  // for https://graph.facebook.com/v21.0
	CDNPath    = "/dev/cdn"          // for Meta's CDN hosts
	twilioCDN  = "/dev/twilio-cdn/"  // where a media resource redirects
	graphFile  = "/dev/graph-media/" // the url a WhatsApp lookup returns
)

// Routes adds the stand-in's routes to mux.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("PUT /dev/media/{id}", s.put)
	mux.HandleFunc("GET "+TwilioPath+"/2010-04-01/Accounts/{sid}/Messages/{mm}/Media/{me}", s.twilioMedia)
	mux.HandleFunc("DELETE "+TwilioPath+"/2010-04-01/Accounts/{sid}/Messages/{mm}/Media/{me}", s.twilioDelete)
	mux.HandleFunc("GET "+twilioCDN+"{id}", s.cdn)
	mux.HandleFunc("GET /dev/graph/{version}/{id}", s.graphLookup)
	mux.HandleFunc("GET "+graphFile+"{id}", s.graphDownload)
	mux.HandleFunc("GET "+CDNPath+"/{path...}", s.cdn)
}

// put registers a file: its bytes and its Content-Type.
func (s *Server) put(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxFile+1))
	if err != nil || len(data) > maxFile {
		http.Error(w, "the file is unreadable or over 100 MB", http.StatusRequestEntityTooLarge)
		return
	}
	ct := r.Header.Get("Content-Type")
	if t, _, err := mime.ParseMediaType(ct); err == nil {
		ct = t
	} else {
		ct = "application/octet-stream"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = map[string]file{}
	}
	s.files[r.PathValue("id")] = file{data: data, contentType: ct}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) get(id string) (file, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	return f, ok
}

func serveFile(w http.ResponseWriter, f file) {
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}

// twilioMedia is a media resource: with the account's basic auth, a
// redirect to the CDN, as Twilio answers.
func (s *Server) twilioMedia(w http.ResponseWriter, r *http.Request) {
	if sid, _, ok := r.BasicAuth(); !ok || sid != r.PathValue("sid") {
		http.Error(w, "Twilio media needs the account's basic auth", http.StatusUnauthorized)
		return
	}
	if _, ok := s.get(r.PathValue("me")); !ok {
		http.NotFound(w, r)
		return
	}
	http.Redirect(w, r, twilioCDN+r.PathValue("me"), http.StatusTemporaryRedirect)
}

// twilioDelete deletes a media resource (<uri>.json).
func (s *Server) twilioDelete(w http.ResponseWriter, r *http.Request) {
	if sid, _, ok := r.BasicAuth(); !ok || sid != r.PathValue("sid") {
		http.Error(w, "Twilio media needs the account's basic auth", http.StatusUnauthorized)
		return
	}
	id, ok := strings.CutSuffix(r.PathValue("me"), ".json")
	s.mu.Lock()
	_, found := s.files[id]
	delete(s.files, id)
	s.mu.Unlock()
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// cdn serves a file without credentials, and refuses them: a CDN that
// received the provider's credentials would be a leak.
func (s *Server) cdn(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "credentials sent to a CDN", http.StatusBadRequest)
		return
	}
	// A CDN path ends in the file's name: Twilio's CDN path is the media
	// SID, a Meta CDN URL's last segment the registered id.
	id := r.PathValue("id")
	if id == "" {
		p := r.PathValue("path")
		id = p[strings.LastIndex(p, "/")+1:]
	}
	f, ok := s.get(id)
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveFile(w, f)
}

// graphLookup answers a WhatsApp media id as the Graph API does.
func (s *Server) graphLookup(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		http.Error(w, `{"error":{"message":"An access token is required","code":190}}`, http.StatusUnauthorized)
		return
	}
	id := r.PathValue("id")
	f, ok := s.get(id)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"url":%q,"mime_type":%q,"file_size":%d,"id":%q,"messaging_product":"whatsapp"}`,
		"http://"+r.Host+graphFile+id, f.contentType, len(f.data), id)
}

// graphDownload serves the url a lookup returned, with the token.
func (s *Server) graphDownload(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		http.Error(w, "the download needs the token", http.StatusUnauthorized)
		return
	}
	f, ok := s.get(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveFile(w, f)
}
