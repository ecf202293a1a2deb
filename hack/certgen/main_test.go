package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// runCertgen runs the command as a user would and returns what it printed on stdout.
func runCertgen(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	NewWithT(t).Expect(run(args, &stdout, &stderr)).To(Succeed(), stderr.String())
	return stdout.String()
}

func readFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{caFile, certFile, keyFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		files[name] = data
	}
	return files
}

func TestCertgenServesTLSOnLoopback(t *testing.T) {
	g := NewWithT(t)
	dir := filepath.Join(t.TempDir(), "certs")
	out := runCertgen(t, "--dir", dir)

	files := readFiles(t, dir)
	bundle, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(bundle).To(Equal(files[caFile]), "stdout is the CA bundle")
	info, err := os.Stat(filepath.Join(dir, keyFile))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))

	// A TLS server with the certificate, reached by a client that trusts only the printed bundle,
	// as the kube-apiserver reaches the webhook server.
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	g.Expect(err).NotTo(HaveOccurred())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	g.Expect(err).NotTo(HaveOccurred())
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := &http.Server{Handler: ok, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	roots := x509.NewCertPool()
	g.Expect(roots.AppendCertsFromPEM(bundle)).To(BeTrue())
	client := &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	_, port, err := net.SplitHostPort(ln.Addr().String())
	g.Expect(err).NotTo(HaveOccurred())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		resp, err := client.Get("https://" + net.JoinHostPort(host, port))
		g.Expect(err).NotTo(HaveOccurred(), host)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		g.Expect(string(body)).To(Equal("ok"))
	}

	// A name the certificate does not cover is refused.
	err = tls.Client(mustDial(t, ln.Addr().String()), &tls.Config{RootCAs: roots, ServerName: "example.com"}).
		Handshake()
	g.Expect(err).To(HaveOccurred())
}

func mustDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestCertgenIsIdempotent(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	first := runCertgen(t, "--dir", dir)
	before := readFiles(t, dir)

	g.Expect(runCertgen(t, "--dir", dir)).To(Equal(first))
	g.Expect(readFiles(t, dir)).To(Equal(before), "good certificates are kept")

	g.Expect(runCertgen(t, "--dir", dir, "--hosts", "localhost")).To(Equal(first), "a subset of the hosts")
}

func TestCertgenRenews(t *testing.T) {
	hosts := []string{"127.0.0.1", "localhost"}
	cases := []struct {
		name  string
		spoil func(t *testing.T, dir string)
		hosts []string
		at    time.Time
	}{
		{"another host", func(*testing.T, string) {}, []string{"127.0.0.1", "webhook.local"}, time.Now()},
		{"about to expire", func(*testing.T, string) {}, hosts, time.Now().Add(validity - renewBefore/2)},
		{"expired", func(*testing.T, string) {}, hosts, time.Now().Add(2 * validity)},
		{"key missing", func(t *testing.T, dir string) {
			NewWithT(t).Expect(os.Remove(filepath.Join(dir, keyFile))).To(Succeed())
		}, hosts, time.Now()},
		{"CA replaced", func(t *testing.T, dir string) {
			other := t.TempDir()
			_, _, err := ensure(other, hosts, time.Now())
			g := NewWithT(t)
			g.Expect(err).NotTo(HaveOccurred())
			data, err := os.ReadFile(filepath.Join(other, caFile))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(os.WriteFile(filepath.Join(dir, caFile), data, 0o644)).To(Succeed())
		}, hosts, time.Now()},
		{"garbage", func(t *testing.T, dir string) {
			junk := []byte("junk")
			NewWithT(t).Expect(os.WriteFile(filepath.Join(dir, certFile), junk, 0o644)).To(Succeed())
		}, hosts, time.Now()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			first, reused, err := ensure(dir, hosts, time.Now())
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(reused).To(BeFalse())
			tc.spoil(t, dir)

			second, reused, err := ensure(dir, tc.hosts, tc.at)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(reused).To(BeFalse())
			g.Expect(second).NotTo(Equal(first))
			_, err = check(dir, tc.hosts, tc.at)
			g.Expect(err).NotTo(HaveOccurred(), "the new set is good")
		})
	}
}

func TestCertgenFlags(t *testing.T) {
	g := NewWithT(t)
	var stdout, stderr bytes.Buffer
	g.Expect(run(nil, &stdout, &stderr)).To(MatchError(ContainSubstring("--dir is required")))
	g.Expect(run([]string{"--dir", t.TempDir(), "--hosts", " , "}, &stdout, &stderr)).
		To(MatchError(ContainSubstring("no host")))
	g.Expect(stdout.String()).To(BeEmpty())
}
