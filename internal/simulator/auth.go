package simulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The SDK-HMAC-SHA256 scheme of the Huawei Cloud API gateway, as core/auth/signer signs it. The
// check below is an independent implementation; the tests verify it against the real SDK.
// TODO: only SDK-HMAC-SHA256 is accepted; the SDK's SM3, ECDSA and derived (V11) signatures and
// security tokens (temporary AK/SK) are refused with 401.
const (
	signAlgorithm     = "SDK-HMAC-SHA256"
	headerSdkDate     = "X-Sdk-Date"
	sdkDateFormat     = "20060102T150405Z"
	headerContentHash = "x-sdk-content-sha256"
	unsignedPayload   = "UNSIGNED-PAYLOAD"
	// maxClockSkew is how far X-Sdk-Date may be from the server's clock, as the gateway allows.
	maxClockSkew = 15 * time.Minute
)

// authorization is a parsed "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=..." header.
type authorization struct {
	access        string
	signedHeaders []string
	signature     string
}

func parseAuthorization(v string) (authorization, error) {
	var a authorization
	rest, ok := strings.CutPrefix(v, signAlgorithm+" ")
	if !ok {
		return a, errors.New("the Authorization header is missing or not SDK-HMAC-SHA256")
	}
	for part := range strings.SplitSeq(rest, ",") {
		key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch key {
		case "Access":
			a.access = value
		case "SignedHeaders":
			a.signedHeaders = strings.Split(value, ";")
		case "Signature":
			a.signature = value
		}
	}
	if a.access == "" || len(a.signedHeaders) == 0 || a.signature == "" {
		return a, errors.New("the Authorization header lacks Access, SignedHeaders or Signature")
	}
	return a, nil
}

// verifySignature recomputes the request's signature with the simulator's key pair; wallNow is
// the wall clock, which the SDK signs with.
func (s *Simulator) verifySignature(r *http.Request, body []byte, wallNow time.Time) error {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if a.access != s.ak {
		return errors.New("the access key does not exist")
	}
	if !slices.Contains(a.signedHeaders, strings.ToLower(headerSdkDate)) {
		return errors.New("the X-Sdk-Date header is not signed")
	}
	date := r.Header.Get(headerSdkDate)
	signedAt, err := time.Parse(sdkDateFormat, date)
	if err != nil {
		return fmt.Errorf("the X-Sdk-Date header %q is not in the form %s", date, sdkDateFormat)
	}
	if skew := wallNow.Sub(signedAt); skew > maxClockSkew || skew < -maxClockSkew {
		return fmt.Errorf("the X-Sdk-Date header %s is more than %s off the server's time",
			date, maxClockSkew)
	}
	canonical := canonicalRequest(r, body, a.signedHeaders)
	stringToSign := signAlgorithm + "\n" + date + "\n" + hexSHA256([]byte(canonical))
	mac := hmac.New(sha256.New, []byte(s.sk))
	mac.Write([]byte(stringToSign))
	if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(a.signature)) {
		return errors.New("verify aksk signature fail")
	}
	return nil
}

// canonicalRequest builds the text the client signed: method, URI with a trailing slash, sorted
// query, signed headers and their list, and the body's hash.
func canonicalRequest(r *http.Request, body []byte, signedHeaders []string) string {
	return strings.Join([]string{
		r.Method,
		canonicalURI(r.URL.Path),
		canonicalQuery(r.URL.RawQuery),
		canonicalHeaders(r, signedHeaders),
		strings.Join(signedHeaders, ";"),
		payloadHash(r, body, signedHeaders),
	}, "\n")
}

func canonicalURI(path string) string {
	segments := strings.Split(path, "/")
	for i, seg := range segments {
		segments[i] = sdkEscape(seg)
	}
	uri := strings.Join(segments, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	return uri
}

// canonicalQuery decodes the query as the server sees it and re-encodes it the way the signer
// encodes the values it put there, so both sides agree on the text.
func canonicalQuery(rawQuery string) string {
	values, _ := url.ParseQuery(rawQuery) // a malformed pair is dropped and fails the signature
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(values)) {
		vs := slices.Sorted(slices.Values(values[k]))
		for _, v := range vs {
			pairs = append(pairs, sdkEscape(k)+"="+sdkEscape(v))
		}
	}
	return strings.Join(pairs, "&")
}

// canonicalHeaders lists each signed header as "name:value", one line per value, sorted values,
// ending with a newline. Go keeps Host out of r.Header, so it is read from r.Host.
func canonicalHeaders(r *http.Request, signedHeaders []string) string {
	var b strings.Builder
	for _, name := range signedHeaders {
		var values []string
		if name == "host" {
			values = []string{r.Host}
		} else {
			values = slices.Sorted(slices.Values(r.Header.Values(name)))
		}
		for _, v := range values {
			b.WriteString(name + ":" + strings.TrimSpace(v) + "\n")
		}
	}
	return b.String()
}

// payloadHash is the hex SHA-256 of the body, unless the client signed an
// X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD header (the SDK does so for non-JSON bodies).
func payloadHash(r *http.Request, body []byte, signedHeaders []string) string {
	signed := slices.Contains(signedHeaders, headerContentHash)
	if signed && r.Header.Get(headerContentHash) == unsignedPayload {
		return unsignedPayload
	}
	return hexSHA256(body)
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sdkEscape percent-encodes every byte but the unreserved ones, with upper-case hex.
func sdkEscape(s string) string {
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '_' || c == '-' || c == '~' || c == '.' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
