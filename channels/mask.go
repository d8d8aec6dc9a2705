package channels

import "carillon/internal/pii"

// Mask masks an address of the given channel for logs and error messages.
func Mask(c Channel, v string) string {
	switch c {
	case SMS:
		return pii.Phone(v)
	case Email:
		return pii.Email(v)
	case WeChat, WeCom:
		return pii.OpenID(v)
	}
	return pii.Mask(string(c), v)
}
