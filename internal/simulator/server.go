package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a Simulator listening on a TCP address.
type Server struct {
	sim      *Simulator
	srv      *http.Server
	listener net.Listener
	done     chan struct{}
}

// Start listens on addr (for example "127.0.0.1:0" for any free port) and serves a new
// Simulator in the background until Close or Shutdown.
func Start(addr string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	sim := New(opts)
	s := &Server{
		sim:      sim,
		listener: ln,
		srv:      &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second},
		done:     make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		// Serve returns ErrServerClosed after Close or Shutdown; nothing else is expected.
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// URL is the base URL of the server, such as "http://127.0.0.1:8090"; use it as the SDK endpoint
// and as the base of NewControl.
func (s *Server) URL() string {
	return "http://" + s.listener.Addr().String()
}

// Simulator is the simulator the server serves, for in-process inspection.
func (s *Server) Simulator() *Simulator {
	return s.sim
}

// Close stops the server at once, dropping open connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if err != nil {
		return fmt.Errorf("closing the simulator server: %w", err)
	}
	return nil
}

// Shutdown stops accepting requests and waits for those in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting the simulator server down: %w", err)
	}
	<-s.done
	return nil
}
