package sso

import "github.com/beevik/etree"

// EncryptionMethods are the algorithms the SP decrypts (gosaml2 v0.12.0's
// set minus 3DES and rsa-1_5, which are weak), in order of preference. The
// SP metadata lists them so that an IdP picks one of these.
var EncryptionMethods = []string{
	"http://www.w3.org/2009/xmlenc11#aes256-gcm",
	"http://www.w3.org/2009/xmlenc11#aes128-gcm",
	"http://www.w3.org/2001/04/xmlenc#aes256-cbc",
	"http://www.w3.org/2001/04/xmlenc#aes128-cbc",
	"http://www.w3.org/2009/xmlenc11#rsa-oaep",
	"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
}

// addEncryptionKeyDescriptor publishes the SP certificate for encrypting
// assertions to it (the SP key pair decrypts them: ValidateInput.DecryptKey).
func addEncryptionKeyDescriptor(d *etree.Element, certBase64 string) {
	kd := d.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", "encryption")
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(certBase64)
	for _, m := range EncryptionMethods {
		kd.CreateElement("md:EncryptionMethod").CreateAttr("Algorithm", m)
	}
}
