import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The output folder is chosen by the build (the build tree's ui-dist); hashed file names
// under assets/ let pipelitd cache them for a year.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev` against a pipelitd on its default address.
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/health": "http://127.0.0.1:8080",
      "/ws": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});
