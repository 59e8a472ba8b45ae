package sso

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"ssowizard/store/model"
)

// Names under which the key pairs are kept in the store.
const (
	SPKeyName   = "sp-keypair"
	DemoKeyName = "demo-idp-keypair"
)

// KeyPair is an RSA key with its self-signed certificate.
type KeyPair struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// GetKeyPair makes a KeyPair usable as a goxmldsig X509KeyStore (signing
// and decryption).
func (k *KeyPair) GetKeyPair() (*rsa.PrivateKey, []byte, error) {
	return k.Key, k.Cert.Raw, nil
}

// CertBase64 is the certificate's DER in base64, as metadata carries it.
func (k *KeyPair) CertBase64() string { return base64.StdEncoding.EncodeToString(k.Cert.Raw) }

// PEM encodes the key (PKCS#8) and the certificate.
func (k *KeyPair) PEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw})...), nil
}

// ParseKeyPair reads what PEM wrote.
func ParseKeyPair(data []byte) (*KeyPair, error) {
	kp := &KeyPair{}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("key pair: %w", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, errors.New("key pair: not an RSA key")
			}
			kp.Key = rk
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("key pair: %w", err)
			}
			kp.Key = k
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("key pair: %w", err)
			}
			kp.Cert = c
		}
	}
	if kp.Key == nil || kp.Cert == nil {
		return nil, errors.New("key pair: the stored PEM lacks the key or the certificate")
	}
	pub, ok := kp.Cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&kp.Key.PublicKey) {
		return nil, errors.New("key pair: the certificate does not match the key")
	}
	return kp, nil
}

// NewKeyPair generates an RSA-2048 key and a self-signed certificate for
// commonName, valid for ten years from now.
func NewKeyPair(commonName string, now time.Time) (*KeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour), // tolerate a peer whose clock is a little behind
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Key: key, Cert: cert}, nil
}

// LoadOrCreateKeyPair returns the key pair stored under name, generating and
// storing one first if there is none. PutSecretIfAbsent makes it race-safe:
// when two processes generate at once, both end up with the one stored.
func LoadOrCreateKeyPair(ctx context.Context, ks KeyStore, name string, clock model.Clock) (*KeyPair, error) {
	if clock == nil {
		clock = model.SystemClock{}
	}
	data, err := ks.Secret(ctx, name)
	if err == nil {
		return ParseKeyPair(data)
	}
	if !errors.Is(err, model.ErrNotFound) {
		return nil, fmt.Errorf("read key pair %s: %w", name, err)
	}
	kp, err := NewKeyPair("ssowizard "+strings.TrimSuffix(name, "-keypair"), clock.Now())
	if err != nil {
		return nil, fmt.Errorf("generate key pair: %w", err)
	}
	p, err := kp.PEM()
	if err != nil {
		return nil, err
	}
	stored, err := ks.PutSecretIfAbsent(ctx, name, p)
	if err != nil {
		return nil, fmt.Errorf("store key pair %s: %w", name, err)
	}
	return ParseKeyPair(stored)
}

// CertFingerprint is the colon-separated SHA-256 of a certificate's DER.
func CertFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
