// incluster is a stdlib-only in-cluster Kubernetes client for skiff's end-to-end tests.
// It reads the mounted service-account token, CA and namespace, lists the pods of its
// namespace through the API server and prints one JSON line:
//
//	{"url":"…","status":200,"pods":["a","b"]}
//
// -server picks the address (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
// e.g. -server https://kubernetes.default.svc); -token replaces the credential:
// "mounted" (default), "none", "garbage", or "forged" (the mounted token's claims re-signed
// with a key of our own, and its expiry moved, as an attacker could).
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

type result struct {
	URL       string   `json:"url"`
	Namespace string   `json:"namespace"`
	Status    int      `json:"status"`
	Pods      []string `json:"pods,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// forge re-signs the token's claims (expiry pushed a day out) with a fresh P-256 key.
func forge(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("token has %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	claims := map[string]any{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	claims["exp"] = time.Now().Add(24 * time.Hour).Unix()
	body, _ := json.Marshal(claims)
	header := b64([]byte(`{"alg":"ES256","typ":"JWT"}`))
	signing := header + "." + b64(body)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + b64(sig), nil
}

func main() {
	server := flag.String("server", "", "API server URL (default from KUBERNETES_SERVICE_HOST/PORT)")
	tokenMode := flag.String("token", "mounted", "mounted, none, garbage or forged")
	flag.Parse()
	out := result{}
	defer func() {
		json.NewEncoder(os.Stdout).Encode(out)
		if out.Error != "" {
			os.Exit(2)
		}
	}()
	if *server == "" {
		host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
		if host == "" || port == "" {
			out.Error = "KUBERNETES_SERVICE_HOST/PORT are not set"
			return
		}
		*server = "https://" + net.JoinHostPort(host, port)
	}
	out.URL = *server
	tokenBytes, err := os.ReadFile(saDir + "/token")
	if err != nil {
		out.Error = err.Error()
		return
	}
	caPem, err := os.ReadFile(saDir + "/ca.crt")
	if err != nil {
		out.Error = err.Error()
		return
	}
	ns, err := os.ReadFile(saDir + "/namespace")
	if err != nil {
		out.Error = err.Error()
		return
	}
	out.Namespace = strings.TrimSpace(string(ns))
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPem) {
		out.Error = "ca.crt holds no certificate"
		return
	}
	token := strings.TrimSpace(string(tokenBytes))
	switch *tokenMode {
	case "mounted":
	case "none":
		token = ""
	case "garbage":
		token = "not-a-real-token"
	case "forged":
		if token, err = forge(token); err != nil {
			out.Error = err.Error()
			return
		}
	default:
		out.Error = "unknown -token " + *tokenMode
		return
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	req, _ := http.NewRequest("GET", *server+"/api/v1/namespaces/"+out.Namespace+"/pods", nil)
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		out.Error = err.Error()
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out.Status = resp.StatusCode
	if resp.StatusCode != 200 {
		var st struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}
		json.Unmarshal(body, &st)
		out.Reason = st.Reason
		return
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		out.Error = "decoding the pod list: " + err.Error()
		return
	}
	if list.Kind != "PodList" {
		out.Error = "expected a PodList, got " + list.Kind
		return
	}
	out.Pods = []string{}
	for _, p := range list.Items {
		out.Pods = append(out.Pods, p.Metadata.Name)
	}
}
