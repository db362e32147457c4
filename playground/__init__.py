"""The playground's use cases, free of Gradio: chat and images with limits and fair use
(`service`), Compare (`compare`), the blind arena (`arena`) and availability in words (`status`)."""
