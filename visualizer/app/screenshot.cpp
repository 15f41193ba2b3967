// The headless screenshot: the UI rendered into an OpenGL framebuffer object, read back with
// glReadPixels and written as PNG by stb_image_write (docs and tests use it under xvfb-run).
#include <imgui.h>
#define GLFW_INCLUDE_GLEXT
#include <GLFW/glfw3.h>
#include <stb_image_write.h>

#include <cstdio>
#include <string>
#include <vector>

#include "modes.hpp"

namespace flashlab::viz::app {

namespace {

template <typename F>
F gl_proc(const char* name) {
  return reinterpret_cast<F>(glfwGetProcAddress(name));
}

}  // namespace

// One frame rendered off-screen into an RGBA8 framebuffer object of width x height, saved as PNG.
int screenshot(App& app, const std::string& path, int width, int height) {
  const auto gen_fb = gl_proc<PFNGLGENFRAMEBUFFERSPROC>("glGenFramebuffers");
  const auto bind_fb = gl_proc<PFNGLBINDFRAMEBUFFERPROC>("glBindFramebuffer");
  const auto gen_rb = gl_proc<PFNGLGENRENDERBUFFERSPROC>("glGenRenderbuffers");
  const auto bind_rb = gl_proc<PFNGLBINDRENDERBUFFERPROC>("glBindRenderbuffer");
  const auto storage = gl_proc<PFNGLRENDERBUFFERSTORAGEPROC>("glRenderbufferStorage");
  const auto attach = gl_proc<PFNGLFRAMEBUFFERRENDERBUFFERPROC>("glFramebufferRenderbuffer");
  const auto status = gl_proc<PFNGLCHECKFRAMEBUFFERSTATUSPROC>("glCheckFramebufferStatus");
  const auto del_fb = gl_proc<PFNGLDELETEFRAMEBUFFERSPROC>("glDeleteFramebuffers");
  const auto del_rb = gl_proc<PFNGLDELETERENDERBUFFERSPROC>("glDeleteRenderbuffers");
  if (!gen_fb || !bind_fb || !gen_rb || !bind_rb || !storage || !attach || !status || !del_fb ||
      !del_rb) {
    std::fprintf(stderr, "flashlab-viz: error: OpenGL framebuffer objects are not available\n");
    return 1;
  }
  GLuint fbo = 0, color = 0;
  gen_fb(1, &fbo);
  bind_fb(GL_FRAMEBUFFER, fbo);
  gen_rb(1, &color);
  bind_rb(GL_RENDERBUFFER, color);
  storage(GL_RENDERBUFFER, GL_RGBA8, width, height);
  attach(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, color);
  if (status(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
    std::fprintf(stderr, "flashlab-viz: error: cannot create a %dx%d framebuffer\n", width, height);
    return 1;
  }
  // A few frames: window sizes, table columns and the pseudo-code's scroll settle after the
  // first ones (immediate mode measures during a frame, applies in the next).
  const ImVec2 size{float(width), float(height)};
  for (int k = 0; k < 4; ++k) {
    new_frame(app, 0.0, &size);
    render(width, height);
  }
  std::vector<unsigned char> pixels(size_t(width) * size_t(height) * 3);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());
  bind_fb(GL_FRAMEBUFFER, 0);
  del_rb(1, &color);
  del_fb(1, &fbo);
  stbi_flip_vertically_on_write(1);
  stbi_write_png_compression_level = 9;
  if (stbi_write_png(path.c_str(), width, height, 3, pixels.data(), width * 3) == 0) {
    std::fprintf(stderr, "flashlab-viz: error: cannot write %s\n", path.c_str());
    return 1;
  }
  return 0;
}

}  // namespace flashlab::viz::app
