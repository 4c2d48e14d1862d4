// Package livesocket serves the WebSocket API on the local stack's port
// (make dev, tests): the same $connect gate, the same inbox.Live use
// cases and the same frames as API Gateway and functions/realtime.
package livesocket

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/handler/realtime"
	"github.com/parley-inbox/parley/shared/inbox"
)

// Server upgrades /live requests the gate admits and posts frames to them.
type Server struct {
	Gate realtime.Gate
	// Live is set once the server exists, since Live posts through it.
	Live *inbox.Live
	Log  *slog.Logger

	mu    sync.Mutex
	conns map[string]*websocket.Conn
}

var _ inbox.Poster = (*Server)(nil)

// writeTimeout drops a client that stops reading, as API Gateway would.
const writeTimeout = 5 * time.Second

// Close codes for a refused frame, documented in the README.
const (
	closeMalformed = websocket.StatusPolicyViolation // 1008
	closeTooLarge  = websocket.StatusMessageTooBig   // 1009
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := s.Gate.Admit(q.Get("workspace"), q.Get("token"))
	if err != nil {
		problem.Write(w, r, s.Log, err)
		return
	}
	// Any origin: the widget runs on the customers' own sites, and a
	// visitor token is not a cookie a page could borrow.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	// One more byte than allowed, so Live sees the frame is too large and
	// refuses it the documented way.
	conn.SetReadLimit(inbox.MaxClientFrame + 1)
	c.ID = inbox.NewID(time.Now())
	ctx := context.WithoutCancel(r.Context())
	s.add(c.ID, conn)
	defer s.remove(c.ID)
	if err := s.Live.Connect(ctx, c); err != nil {
		s.Log.Error("websocket connect", "err", err)
		conn.Close(websocket.StatusInternalError, "internal error")
		return
	}
	defer func() {
		if err := s.Live.Disconnect(ctx, c); err != nil {
			s.Log.Error("websocket disconnect", "err", err)
		}
	}()
	for {
		typ, data, err := conn.Read(ctx)
		if errors.Is(err, websocket.ErrMessageTooBig) || (err == nil && len(data) > inbox.MaxClientFrame) {
			s.refuse(ctx, conn, inbox.ErrFrameTooLarge)
			return
		}
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			data = nil // binary frames are not part of the protocol
		}
		if err := s.Live.Receive(ctx, c, data); err != nil {
			if inbox.IsKind(err, inbox.KindInvalid) {
				s.refuse(ctx, conn, err)
				return
			}
			s.Log.Error("websocket frame", "err", err)
		}
	}
}

// refuse sends the error frame and closes with the frame's close code.
func (s *Server) refuse(ctx context.Context, conn *websocket.Conn, err error) {
	frame, status := inbox.Refusal(err)
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	_ = conn.Write(wctx, websocket.MessageText, frame)
	code := closeMalformed
	if status == http.StatusRequestEntityTooLarge {
		code = closeTooLarge
	}
	conn.Close(code, http.StatusText(status))
}

func (s *Server) add(id string, c *websocket.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = map[string]*websocket.Conn{}
	}
	s.conns[id] = c
}

func (s *Server) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, id)
}

// Post writes one frame to a connection; inbox.ErrGone if it has closed.
func (s *Server) Post(ctx context.Context, connectionID string, frame []byte) error {
	s.mu.Lock()
	conn := s.conns[connectionID]
	s.mu.Unlock()
	if conn == nil {
		return inbox.ErrGone
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, frame); err != nil {
		return inbox.ErrGone
	}
	return nil
}

// Connections counts the open sockets (for the bench).
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
