// Command certgen makes the certificates the webhook server needs outside a cluster: a CA and a
// serving certificate for 127.0.0.1 and localhost, written as ca.crt, tls.crt and tls.key into a
// directory the operator reads with --webhook-cert-dir. It prints the CA bundle, base64-encoded,
// for the caBundle of the webhook configurations. Run again, it keeps certificates that are still
// good, so the bundle a cluster already trusts stays valid; no openssl is needed.
//
// Usage: go run ./hack/certgen --dir bin/local/certs [--hosts 127.0.0.1,localhost]
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names in the certificate directory, as controller-runtime's webhook server expects them.
const (
	caFile   = "ca.crt"
	certFile = "tls.crt"
	keyFile  = "tls.key"
)

const (
	// validity is how long new certificates last.
	validity = 365 * 24 * time.Hour
	// renewBefore is how long before expiry certificates are made anew.
	renewBefore = 30 * 24 * time.Hour
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "certgen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("certgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory to write ca.crt, tls.crt and tls.key into (required)")
	hosts := fs.String("hosts", "127.0.0.1,localhost", "comma-separated IP addresses and DNS names to serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dir is required")
	}
	names := splitHosts(*hosts)
	if len(names) == 0 {
		return errors.New("--hosts names no host")
	}
	caPEM, reused, err := ensure(*dir, names, time.Now())
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("certgen: wrote a new CA and a serving certificate for %s into %s",
		strings.Join(names, ", "), *dir)
	if reused {
		msg = "certgen: reusing the certificates in " + *dir
	}
	if _, err := fmt.Fprintln(stderr, msg); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(caPEM))
	return err
}

func splitHosts(s string) []string {
	var hosts []string
	for h := range strings.SplitSeq(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// ensure makes sure dir holds a CA and a serving certificate for hosts that are good at now and
// for a while after, and returns the CA in PEM. It reports whether the files were kept as they
// were. The CA's key is not kept: when anything must change, everything is made anew.
func ensure(dir string, hosts []string, now time.Time) (caPEM []byte, reused bool, err error) {
	if caPEM, err := check(dir, hosts, now); err == nil {
		return caPEM, true, nil
	}
	ca, leaf, err := generate(hosts, now)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, false, fmt.Errorf("creating %s: %w", dir, err)
	}
	// The key goes first and the CA last, so an interrupted run leaves a set that check refuses.
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{keyFile, leaf.keyPEM, 0o600},
		{certFile, leaf.certPEM, 0o644},
		{caFile, ca.certPEM, 0o644},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return nil, false, err
		}
	}
	return ca.certPEM, false, nil
}

// check returns the CA in PEM when the files in dir are a usable set: the key matches the
// serving certificate, the CA signed it, it covers every host, and neither expires soon.
func check(dir string, hosts []string, now time.Time) ([]byte, error) {
	caPEM, err := os.ReadFile(filepath.Join(dir, caFile)) //nolint:gosec // reading the user's --dir is the job
	if err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("ca.crt holds no certificate")
	}
	// Verifying at the renewal time checks that CA and certificate both last until then.
	for _, at := range []time.Time{now, now.Add(renewBefore)} {
		opts := x509.VerifyOptions{
			Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		if _, err := leaf.Verify(opts); err != nil {
			return nil, err
		}
	}
	for _, h := range hosts {
		if err := leaf.VerifyHostname(h); err != nil {
			return nil, err
		}
	}
	return caPEM, nil
}

type keyPair struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

// generate makes a new CA and a serving certificate for hosts signed by it.
func generate(hosts []string, now time.Time) (ca, leaf *keyPair, err error) {
	ca, err = newCertificate(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "evs-operator local webhook CA"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}, nil, now)
	if err != nil {
		return nil, nil, fmt.Errorf("making the CA: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	leaf, err = newCertificate(tmpl, ca, now)
	if err != nil {
		return nil, nil, fmt.Errorf("making the serving certificate: %w", err)
	}
	return ca, leaf, nil
}

// newCertificate fills in the key, serial and validity of tmpl and signs it with parent, or with
// its own key when parent is nil.
func newCertificate(tmpl *x509.Certificate, parent *keyPair, now time.Time) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	// An hour of slack for clocks that are a little behind.
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(validity)
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// writeFile replaces path with data at once, so a reader never sees half a file.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // already gone after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
