package sasl

// NewServerWithNonce is NewServer with a fixed server nonce part.
func NewServerWithNonce(mechanism string, cfg ServerConfig, serverNonce string) (Server, error) {
	return newServer(mechanism, cfg, func() string { return serverNonce })
}

// NewClientWithNonce is NewClient with a fixed client nonce.
func NewClientWithNonce(mechanism, username, password, authzid string, cb ChannelBinding, clientNonce string) (Client, error) {
	return newClient(mechanism, username, password, authzid, cb, func() string { return clientNonce })
}
