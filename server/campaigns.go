package server

// campaignRoutes mounts segments and campaigns when the server has the
// campaigns service.
func (s *Server) campaignRoutes() {
	if s.deps.Campaigns == nil {
		return
	}
	s.segmentRoutes()
}
